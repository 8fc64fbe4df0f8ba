"""``modules.extra_networks``: ``<name:args>`` tags are stripped from prompts and reported to
``after_extra_networks_activate`` (A1111 v1.10.1 L131-150, L175-205). No network is registered,
so activation itself does nothing."""

from __future__ import annotations

import re
from collections import defaultdict

re_extra_net = re.compile(r"<(\w+):([^>]+)>")
extra_network_registry: dict = {}
extra_network_aliases: dict = {}


class ExtraNetworkParams:
    def __init__(self, items=None) -> None:
        self.items = items or []
        self.positional: list[str] = []
        self.named: dict[str, str] = {}
        for item in self.items:
            parts = item.split("=", 2) if isinstance(item, str) else [item]
            if len(parts) != 2:
                self.positional.append(item)
                continue
            key, value = parts  # "key=value" is a named argument
            self.named[key] = value

    def __eq__(self, other) -> bool:
        return isinstance(other, ExtraNetworkParams) and self.items == other.items


def parse_prompt(prompt: str) -> tuple[str, dict]:
    res: dict = defaultdict(list)

    def found(m: re.Match) -> str:
        res[m.group(1)].append(ExtraNetworkParams(items=m.group(2).split(":")))
        return ""

    return re.sub(re_extra_net, found, prompt), res


def parse_prompts(prompts: list[str]) -> tuple[list[str], dict | None]:
    res = []
    extra_data = None
    for prompt in prompts:
        updated, parsed = parse_prompt(prompt)
        if extra_data is None:
            extra_data = parsed
        res.append(updated)
    return res, extra_data


def activate(p, extra_network_data) -> None:
    if p.scripts is not None:
        p.scripts.after_extra_networks_activate(p, batch_number=p.iteration, prompts=p.prompts, seeds=p.seeds,
                                                subseeds=p.subseeds, extra_network_data=extra_network_data)


def deactivate(p, extra_network_data) -> None:
    pass
