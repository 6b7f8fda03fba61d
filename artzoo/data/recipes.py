"""The registry of dataset recipes, by name."""

from artzoo.data import emoji
from artzoo.data.recipe import Recipe

RECIPES: dict[str, Recipe] = {recipe.name: recipe for recipe in (emoji.RECIPE,)}
