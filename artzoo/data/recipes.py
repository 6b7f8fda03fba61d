"""The registry of dataset recipes, by name."""

from artzoo.data import chairs, emoji
from artzoo.data.recipe import Recipe

RECIPES: dict[str, Recipe] = {recipe.name: recipe for recipe in (emoji.RECIPE, chairs.RECIPE)}
