from django.urls import path

from . import views

app_name = "courses"
urlpatterns = [
    path("", views.course_list, name="list"),
    path("new/", views.course_new, name="new"),
    path("<int:pk>/", views.course_detail, name="detail"),
    path("<int:pk>/check/", views.course_check, name="check"),
    path("<int:pk>/book/", views.course_book, name="book"),
    path("<int:pk>/stop/", views.course_stop, name="stop"),
    path("<int:pk>/sessions/<int:number>/move/", views.session_move, name="session-move"),
]
