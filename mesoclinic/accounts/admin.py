from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1


@admin.register(User)
class StaffAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active", "memberships__location")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Clinic", {"fields": ("role", "phone")}))
    inlines = [MembershipInline]
