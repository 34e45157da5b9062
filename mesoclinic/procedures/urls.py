from django.urls import path

from . import views

app_name = "procedures"
urlpatterns = [
    path("", views.session_list, name="list"),
    path("appointments/<int:appointment_id>/", views.session_open, name="open"),
    path("<int:pk>/", views.session_detail, name="detail"),
    path("<int:pk>/steps/<slug:step>/", views.session_step, name="step"),
    path("<int:pk>/treatments/<int:treatment_id>/delete/", views.treatment_delete, name="treatment-delete"),
    path("<int:pk>/sign/", views.session_sign, name="sign"),
    path("<int:pk>/amend/", views.session_amend, name="amend"),
]
