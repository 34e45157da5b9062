from django.urls import path

from . import views

app_name = "scheduling"
urlpatterns = [
    path("", views.schedule_home, name="home"),
    path("day/", views.day_view, name="day"),
    path("week/", views.week_view, name="week"),
    path("appointments/new/", views.appointment_new, name="appointment-new"),
    path("appointments/<int:pk>/", views.appointment_detail, name="appointment-detail"),
    path("appointments/<int:pk>/reschedule/", views.appointment_reschedule, name="appointment-reschedule"),
    path("appointments/<int:pk>/shift-series/", views.series_shift, name="series-shift"),
    path("appointments/<int:pk>/cancel/", views.appointment_cancel, name="appointment-cancel"),
    path("appointments/<int:pk>/check-in/", views.appointment_check_in, name="appointment-check-in"),
    path("appointments/<int:pk>/no-show/", views.appointment_no_show, name="appointment-no-show"),
    path("waitlist/", views.waitlist, name="waitlist"),
    path("waitlist/new/", views.waitlist_new, name="waitlist-new"),
    path("waitlist/<int:pk>/remove/", views.waitlist_remove, name="waitlist-remove"),
    path("waitlist/offers/<int:pk>/book/", views.waitlist_offer_book, name="waitlist-offer-book"),
    path("working-time/", views.working_time, name="working-time"),
    path("working-hours/new/", views.working_hours_new, name="working-hours-new"),
    path("working-hours/<int:pk>/delete/", views.working_hours_delete, name="working-hours-delete"),
    path("time-off/new/", views.time_off_new, name="time-off-new"),
    path("time-off/<int:pk>/delete/", views.time_off_delete, name="time-off-delete"),
    path("closures/new/", views.closure_new, name="closure-new"),
    path("closures/<int:pk>/delete/", views.closure_delete, name="closure-delete"),
    path("policy/", views.policy_edit, name="policy"),
    path("me/", views.my_schedule, name="mine"),
    path("me/feed/", views.my_feed, name="my-feed"),
    path("ical/<str:token>.ics", views.ical_feed, name="ical-feed"),
]
