"""Drives Debian's Chromium through Playwright for the web pages' browser test.

Usage: pages.py BASE_URL AXE_JS CHROMIUM

Reads one command per line on stdin and answers each with one line of JSON on stdout, so the Rust
test decides what to check and when (it submits returns and restarts the server between
commands):

    values PATH                  the text of each metric row's value on a fresh page
    axe PATH                     axe-core's serious and critical violations on the page
    screenshot PATH FILE         a full-page screenshot
    open_live PATH               opens the page that stays open, marks its window, returns values
    wait_value METRIC TEXT MS    waits on the open page until METRIC's value reads TEXT
    nojs PATH                    values on a page loaded with JavaScript off
    record_seqs PATH             opens the live page and records, from then on, the wall-clock
                                 time (ms since 1970) each figures update reached its DOM and
                                 the log entry it shows
    recorded_seqs                those records: [[ms, seq], ...]
    quit
"""

import json
import sys
import time

from playwright.sync_api import sync_playwright

VALUES = """() => Object.fromEntries([...document.querySelectorAll('[data-metric]')].map(
    row => [row.getAttribute('data-metric'),
            (row.querySelector('[data-field="value"]') || {}).textContent.trim()]))"""


def main():
    base, axe_path, chromium = sys.argv[1], sys.argv[2], sys.argv[3]
    axe_source = open(axe_path, encoding="utf-8").read()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        live = None

        def fresh(path):
            page = context.new_page()
            page.goto(base + path, wait_until="load")
            return page

        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            command, args = words[0], words[1:]
            if command == "quit":
                break
            try:
                if command == "values":
                    page = fresh(args[0])
                    answer = {"values": page.evaluate(VALUES), "title": page.title()}
                    page.close()
                elif command == "axe":
                    page = fresh(args[0])
                    page.add_script_tag(content=axe_source)
                    result = page.evaluate(
                        "async () => await axe.run(document, {resultTypes: ['violations']})"
                    )
                    page.close()
                    answer = {
                        "violations": [
                            {
                                "id": v["id"],
                                "impact": v["impact"],
                                "help": v["help"],
                                "nodes": [n["html"][:200] for n in v["nodes"][:3]],
                            }
                            for v in result["violations"]
                            if v["impact"] in ("serious", "critical")
                        ]
                    }
                elif command == "screenshot":
                    page = fresh(args[0])
                    page.screenshot(path=args[1], full_page=True)
                    page.close()
                    answer = {"written": args[1]}
                elif command == "open_live":
                    live = fresh(args[0])
                    live.evaluate("() => { window.__not_reloaded = true; }")
                    # The live stream is open once the first figures arrived.
                    live.wait_for_function(
                        "() => document.getElementById('figures').hasAttribute('data-seq')",
                        timeout=10000,
                    )
                    answer = {"values": live.evaluate(VALUES)}
                elif command == "wait_value":
                    metric, text, timeout_ms = args[0], args[1], int(args[2])
                    started = time.monotonic()
                    live.wait_for_function(
                        """([metric, text]) => {
                            const row = document.querySelector(`[data-metric="${metric}"]`);
                            const cell = row && row.querySelector('[data-field="value"]');
                            return cell && cell.textContent.trim() === text;
                        }""",
                        arg=[metric, text],
                        timeout=timeout_ms,
                        polling="raf",
                    )
                    answer = {
                        "ms": round((time.monotonic() - started) * 1000, 1),
                        "not_reloaded": live.evaluate("() => window.__not_reloaded === true"),
                    }
                elif command == "record_seqs":
                    live = fresh(args[0])
                    live.wait_for_function(
                        "() => document.getElementById('figures').hasAttribute('data-seq')",
                        timeout=10000,
                    )
                    live.evaluate(
                        """() => {
                            const figures = document.getElementById('figures');
                            window.__seqs = [];
                            new MutationObserver(() => {
                                const seq = Number(figures.getAttribute('data-seq'));
                                window.__seqs.push([performance.timeOrigin + performance.now(), seq]);
                            }).observe(figures, {attributes: true, attributeFilter: ['data-seq']});
                        }"""
                    )
                    answer = {"ready": True}
                elif command == "recorded_seqs":
                    answer = {"seqs": live.evaluate("() => window.__seqs")}
                elif command == "nojs":
                    plain = browser.new_context(java_script_enabled=False)
                    page = plain.new_page()
                    page.goto(base + args[0], wait_until="load")
                    # Playwright's own evaluate runs with the page's scripts off.
                    answer = {"values": page.evaluate(VALUES)}
                    answer["scripts_ran"] = page.evaluate(
                        "() => document.getElementById('figures').hasAttribute('data-seq')"
                    )
                    plain.close()
                else:
                    answer = {"error": f"unknown command {command}"}
            except Exception as error:  # the Rust side reports it with the command
                answer = {"error": f"{type(error).__name__}: {error}"}
            print(json.dumps(answer), flush=True)
        browser.close()


if __name__ == "__main__":
    main()
