from django.urls import path

from sandbox.urls import urlpatterns as site_urlpatterns

from .floor import floor

urlpatterns = [path("bench/floor/", floor), *site_urlpatterns]
