from django.urls import path

from . import views

app_name = "testprovider"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("pay/<uuid:charge_id>/", views.hosted, name="hosted"),
    path(
        "charges/<uuid:charge_id>/<slug:action>/", views.dashboard_action, name="dashboard_action"
    ),
]
