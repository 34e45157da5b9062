"""Django admin: who may deliver which protocol (configuration, no patient data)."""

from django.contrib import admin

from .models import Qualification


@admin.register(Qualification)
class QualificationAdmin(admin.ModelAdmin):
    list_display = ("practitioner", "protocol", "granted_at")
    list_filter = ("protocol",)
    search_fields = ("practitioner__username", "practitioner__last_name", "protocol__name")
    autocomplete_fields = ("practitioner",)
    list_select_related = ("practitioner", "protocol")
