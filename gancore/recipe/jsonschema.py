"""The JSON Schema of recipes, with every registered component, for editor completion."""

from __future__ import annotations

from typing import Any

from gancore.core.errors import GancoreError
from gancore.core.kinds import KINDS
from gancore.recipe.schema import Recipe


def json_schema(registry: Any = None) -> dict[str, Any]:
    """JSON Schema of recipes, with every registered component's parameters.

    Every reference takes its kind's form (:meth:`gancore.core.kinds.Kind.schema_form`): a
    registered name, or a table that is ``oneOf`` the registered components told apart by
    ``type``, so an editor completes both component names and their parameters, plugin packs'
    included.
    """
    from gancore.packs.loader import get_registry

    registry = registry or get_registry()
    schema = Recipe.model_json_schema()
    defs = schema.setdefault("$defs", {})
    forms: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        refs = []
        names = list(registry.names(kind))
        for entry in registry.entries(kind):
            names.append(entry.qualified)
            try:
                plain = registry.by_bare_name(kind, entry.name) is entry
            except GancoreError:
                plain = False
            try:
                sub = entry.params_model().model_json_schema(ref_template="#/$defs/{model}")
            except Exception:  # a parameter type with no JSON form: allow anything
                sub = {"type": "object"}
            for name, d in sub.pop("$defs", {}).items():
                defs.setdefault(name, d)
            sub.setdefault("properties", {})
            sub["properties"] = {"type": {"enum": [entry.name, entry.qualified] if plain
                                          else [entry.qualified]}, **sub["properties"]}
            sub["required"] = ["type", *sub.get("required", [])]
            sub["additionalProperties"] = False
            sub["title"] = f"{kind} {entry.qualified}"
            sub["description"] = entry.summary or sub.get("description", "")
            def_name = (f"{kind}__{entry.name}" if plain
                        else f"{kind}__{entry.origin}__{entry.name}").replace(".", "_")
            defs[def_name] = sub
            refs.append({"$ref": f"#/$defs/{def_name}"})
        forms[kind] = KINDS[kind].schema_form(names, refs)
    for d in list(defs.values()):
        kind = d.get("x-gancore-kind")
        if kind in forms:
            # settings the reference type declares itself (``data.filters``) go in every table
            shared = {k: v for k, v in d.get("properties", {}).items() if k != "type"}
            for ref in forms[kind]["oneOf"][1:] if shared else ():
                defs[ref["$ref"].rsplit("/", 1)[1]]["properties"].update(shared)
            d.clear()
            d.update(forms[kind])
    schema["title"] = "gancore recipe"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
