"""The patient's check-in link: public (no sign-in); the signed token is the only key."""

from django.urls import path

from . import views

app_name = "checkin"
urlpatterns = [
    path("<str:token>/", views.checkin_answer, name="answer"),
]
