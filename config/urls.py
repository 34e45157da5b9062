from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("mesoclinic.core.urls")),
    path("accounts/", include("mesoclinic.accounts.urls")),
    path("patients/", include("mesoclinic.patients.urls")),
    path("catalog/", include("mesoclinic.catalog.urls")),
    path("screening/", include("mesoclinic.screening.urls")),
    path("courses/", include("mesoclinic.courses.urls")),
    path("schedule/", include("mesoclinic.scheduling.urls")),
    path("messages/", include("mesoclinic.messaging.urls")),
    path("stock/", include("mesoclinic.inventory.urls")),
    path("sessions/", include("mesoclinic.procedures.urls")),
    path("aftercare/", include("mesoclinic.aftercare.urls")),
    path("check-in/", include("mesoclinic.aftercare.public_urls")),  # public: the patient's signed link
    path("safety/", include("mesoclinic.safety.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "mesoclinic.core.views.bad_request"
handler403 = "mesoclinic.core.views.permission_denied"
handler404 = "mesoclinic.core.views.page_not_found"
handler500 = "mesoclinic.core.views.server_error"
