from django.urls import path

from . import views

app_name = "screening"
urlpatterns = [
    path("patients/<int:patient_id>/", views.patient_history, name="history"),
    path("patients/<int:patient_id>/new/", views.screening_new, name="new"),
    path("patients/<int:patient_id>/rescreen/", views.rescreen, name="rescreen"),
    path("<int:pk>/", views.screening_detail, name="detail"),
    path("<int:pk>/override/", views.screening_override, name="override"),
]
