from django.urls import path

from . import views

app_name = "inventory"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("lots/new/", views.lot_new, name="lot-new"),
    path("lots/<int:pk>/", views.lot_detail, name="lot-detail"),
    path("lots/<int:pk>/adjust/", views.lot_adjust, name="lot-adjust"),
    path("lots/<int:pk>/recall/", views.lot_recall, name="lot-recall"),
    path("low/", views.low_stock, name="low-stock"),
    path("expiring/", views.expiring, name="expiring"),
    path("reorder-levels/", views.reorder_levels, name="reorder-levels"),
    path("consumables/", views.consumables, name="consumables"),
]
