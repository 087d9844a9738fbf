#!/usr/bin/env python3
"""Builds Tally's embedded price data from the snapshots in ../shared/data/.

Writes, into src-tauri/engine/data/:
- openrouter-models.json: OpenRouter's GET /api/v1/models answer, trimmed to what pricing needs
  (id, name, context_length, pricing) but still in the API's own shape, so the embedded snapshot
  and a live refresh go through the same parser.
- direct-prices.json: list prices of the major providers' own APIs (OpenAI, Anthropic, Google
  Gemini, DeepSeek, Mistral, xAI, Groq) from LiteLLM's price map, with each model's OpenRouter
  twin where one exists.

LiteLLM stores floats. Each is turned into an exact decimal through its shortest decimal
representation (Python's repr: 1.5e-07 -> "0.00000015"), never through binary arithmetic.

Usage: python3 scripts/data/build_price_data.py [SHARED_DATA_DIR]
"""
import json
import re
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
OUT = ROOT / "src-tauri" / "engine" / "data"
OPENROUTER_FILE = "openrouter-models-2026-08-19.json"
OPENROUTER_DATE = "2026-08-19"
LITELLM_FILE = "litellm-model-prices-1.110.2.json"
LITELLM_VERSION = "1.110.2"

# LiteLLM provider -> (Tally route, prefix LiteLLM puts on the key, OpenRouter vendor prefix)
ROUTES = {
    "openai": ("openai", "", "openai/"),
    "anthropic": ("anthropic", "", "anthropic/"),
    "gemini": ("gemini", "gemini/", "google/"),
    "deepseek": ("deepseek", "deepseek/", "deepseek/"),
    "mistral": ("mistral", "mistral/", "mistralai/"),
    "xai": ("xai", "xai/", "x-ai/"),
    "groq": ("groq", "groq/", ""),
}


def exact(value):
    """A LiteLLM float (or None) as a plain decimal string, by its shortest representation."""
    if value is None:
        return None
    d = Decimal(repr(float(value)))
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def openrouter_twin(route, vendor, model, ids):
    """The OpenRouter id of the same model, if OpenRouter lists one."""
    if route == "groq":  # Groq serves other vendors' models under their OpenRouter-style ids
        return model if model in ids else None
    undated = re.sub(r"-(20\d{2}-?\d{2}-?\d{2})$", "", model)
    dotted = lambda m: re.sub(r"(\d)-(\d)(?=$|-)", r"\1.\2", m)  # claude-sonnet-4-5 -> claude-sonnet-4.5
    for candidate in (model, undated, dotted(model), dotted(undated)):
        if vendor + candidate in ids:
            return vendor + candidate
    return None


def main():
    raw = json.loads((SHARED / OPENROUTER_FILE).read_text())
    trimmed = []
    for m in raw["data"]:
        pricing = dict(m.get("pricing") or {})
        if "prompt" not in pricing or "completion" not in pricing:
            continue
        trimmed.append({"id": m["id"], "name": m.get("name"), "context_length": m.get("context_length"), "pricing": pricing})
    trimmed.sort(key=lambda m: m["id"])
    ids = {m["id"] for m in trimmed}
    (OUT / "openrouter-models.json").write_text(json.dumps({"as_of": OPENROUTER_DATE, "data": trimmed}, indent=1, ensure_ascii=False) + "\n")

    lite = json.loads((SHARED / LITELLM_FILE).read_text())
    direct = {}
    for key, e in lite.items():
        if not isinstance(e, dict) or e.get("mode") != "chat" or e.get("litellm_provider") not in ROUTES:
            continue
        if e.get("input_cost_per_token") is None or e.get("output_cost_per_token") is None:
            continue
        route, prefix, vendor = ROUTES[e["litellm_provider"]]
        if prefix and not key.startswith(prefix):
            continue  # e.g. "deepseek-chat" beside "deepseek/deepseek-chat": keep the prefixed twin only once
        model = key[len(prefix):]
        if "/" in model and route != "groq":
            continue  # region- or deployment-qualified variants
        tiers = []
        if e.get("input_cost_per_token_above_200k_tokens") is not None:
            tiers.append({
                "above_input_tokens": 200000,
                "input": exact(e.get("input_cost_per_token_above_200k_tokens")),
                "output": exact(e.get("output_cost_per_token_above_200k_tokens") or e["output_cost_per_token"]),
                "cached_input": exact(e.get("cache_read_input_token_cost_above_200k_tokens")),
                "cache_write": exact(e.get("cache_creation_input_token_cost_above_200k_tokens")),
            })
        direct[(route, model)] = {
            "route": route,
            "model": model,
            "input": exact(e["input_cost_per_token"]),
            "output": exact(e["output_cost_per_token"]),
            "cached_input": exact(e.get("cache_read_input_token_cost")),
            "cache_write": exact(e.get("cache_creation_input_token_cost")),
            "reasoning": exact(e.get("output_cost_per_reasoning_token")),
            "tiers": tiers,
            "context_length": e.get("max_input_tokens"),
            "openrouter_id": openrouter_twin(route, vendor, model, ids),
        }
    # DeepSeek's unprefixed keys are its current API names; fold them in where the prefixed is absent.
    for key, e in lite.items():
        if isinstance(e, dict) and e.get("litellm_provider") == "deepseek" and "/" not in key and e.get("mode") == "chat" and ("deepseek", key) not in direct:
            if e.get("input_cost_per_token") is not None and e.get("output_cost_per_token") is not None:
                direct[("deepseek", key)] = {
                    "route": "deepseek", "model": key, "input": exact(e["input_cost_per_token"]), "output": exact(e["output_cost_per_token"]),
                    "cached_input": exact(e.get("cache_read_input_token_cost")), "cache_write": None, "reasoning": None, "tiers": [],
                    "context_length": e.get("max_input_tokens"), "openrouter_id": openrouter_twin("deepseek", "deepseek/", key, ids),
                }
    models = sorted(direct.values(), key=lambda m: (m["route"], m["model"]))
    (OUT / "direct-prices.json").write_text(json.dumps({
        "source": f"LiteLLM model_prices_and_context_window_backup.json, litellm {LITELLM_VERSION} (MIT licence)",
        "as_of": "2026-11",
        "models": models,
    }, indent=1) + "\n")
    twins = sum(1 for m in models if m["openrouter_id"])
    print(f"openrouter: {len(trimmed)} models; direct: {len(models)} models, {twins} with an OpenRouter twin")


if __name__ == "__main__":
    main()
