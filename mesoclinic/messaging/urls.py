from django.urls import path

from . import views

app_name = "messaging"
urlpatterns = [
    path("failed/", views.failed_list, name="failed-list"),
    path("<int:pk>/retry/", views.retry, name="retry"),
]
