from django.urls import path

from . import approval_views, views

app_name = "catalog"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("versions/", views.version_list, name="version-list"),
    path("versions/<int:number>/", views.version_detail, name="version-detail"),
    path("versions/<int:number>/download/", views.version_download, name="version-download"),
    path("export/", views.export, name="export"),
    path("import/", views.import_view, name="import"),
    path("changes/", approval_views.proposal_list, name="proposal-list"),
    path("changes/<int:pk>/", approval_views.proposal_detail, name="proposal-detail"),
    path("changes/<int:pk>/approve/", approval_views.proposal_decide, {"decision": "approve"}, name="proposal-approve"),
    path("changes/<int:pk>/reject/", approval_views.proposal_decide, {"decision": "reject"}, name="proposal-reject"),
]
for page in views.PAGES:
    urlpatterns += [
        path(f"{page.slug}/", views.item_list, {"section": page.slug}, name=f"{page.name}-list"),
        path(f"{page.slug}/new/", views.item_edit, {"section": page.slug}, name=f"{page.name}-new"),
        path(f"{page.slug}/<int:pk>/", views.item_detail, {"section": page.slug}, name=f"{page.name}-detail"),
        path(f"{page.slug}/<int:pk>/edit/", views.item_edit, {"section": page.slug}, name=f"{page.name}-edit"),
    ]
