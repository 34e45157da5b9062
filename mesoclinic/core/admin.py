"""Django admin: configuration only (organisation, locations, rooms, devices). No patient data."""

from django.contrib import admin

from .models import Device, Location, OpeningHours, Organisation, Room


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "time_zone", "is_active")
    search_fields = ("name", "code")
    inlines = [OpeningHoursInline]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "location", "is_active")
    list_filter = ("location",)


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("kind", "model", "serial_number", "location", "in_service")
    list_filter = ("kind", "in_service", "location")
    search_fields = ("serial_number", "model")
