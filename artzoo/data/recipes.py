"""The registry of dataset recipes, by name."""

from artzoo.data import chairs, derived, emoji, face
from artzoo.data.recipe import Recipe

RECIPES: dict[str, Recipe] = {recipe.name: recipe for recipe in (emoji.RECIPE, derived.FLUENT3D, chairs.RECIPE, face.RECIPE, derived.FOLDER)}
