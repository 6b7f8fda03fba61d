"""Dataset recipes, one module each, and the registry by name. `base` says what a recipe is."""

from artzoo.data.recipes import chairs, face, fluent_3d, fluent_emoji, folder
from artzoo.data.recipes.base import Recipe

RECIPES: dict[str, Recipe] = {r.name: r for r in (fluent_emoji.RECIPE, fluent_3d.RECIPE, chairs.RECIPE, face.RECIPE,
                                                   folder.RECIPE)}
