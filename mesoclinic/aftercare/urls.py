from django.urls import path

from . import views

app_name = "aftercare"
urlpatterns = [
    path("follow-ups/", views.follow_up_list, name="follow-up-list"),
    path("follow-ups/<int:pk>/", views.follow_up_detail, name="follow-up-detail"),
    path("follow-ups/<int:pk>/close/", views.follow_up_close, name="follow-up-close"),
    path("check-ins/<int:pk>/follow-up/", views.checkin_follow_up, name="checkin-follow-up"),
    path("handouts/<int:pk>/", views.handout_detail, name="handout-detail"),
    path("handouts/<int:pk>/pdf/", views.handout_pdf, name="handout-pdf"),
]
