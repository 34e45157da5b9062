from django.urls import path

from . import views
from .index import safety_index

app_name = "safety"
urlpatterns = [
    path("", safety_index, name="index"),
    path("adverse-events/", views.event_list, name="event-list"),
    path("adverse-events/new/", views.event_new, name="event-new"),
    path("adverse-events/export.csv", views.event_export, name="event-export"),
    path("adverse-events/<int:pk>/", views.event_detail, name="event-detail"),
    path("adverse-events/<int:pk>/print/", views.event_print, name="event-print"),
    path("adverse-events/<int:pk>/close/", views.event_close, name="event-close"),
    path("adverse-events/<int:pk>/regulator/", views.event_regulator, name="event-regulator"),
    path("report/", views.report, name="report"),
    path("recalls/", views.recall_start, name="recall-start"),
    path("recalls/lots/<int:lot_id>/", views.recall_detail, name="recall-detail"),
    path("recalls/lots/<int:lot_id>/export.csv", views.recall_export, name="recall-export"),
    path("recalls/lots/<int:lot_id>/patients/<int:patient_id>/contacted/", views.recall_contacted, name="recall-contacted"),
]
