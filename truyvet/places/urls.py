from django.urls import path

from truyvet.places import views

app_name = "places"
urlpatterns = [
    path("", views.search_view, name="search"),
    path("population/", views.population_view, name="population"),
    path("<str:code>/", views.detail_view, name="detail"),
]
