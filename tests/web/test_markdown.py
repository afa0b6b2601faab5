"""Message bodies drawn as Markdown: the right elements for what people type, and
nothing runnable from what an attacker types (see docs/web-client.md, "Markdown")."""

from __future__ import annotations

import itertools

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.web import ui  # noqa: E402
from tests.web.a11y import check_a11y  # noqa: E402
from tests.web.conftest import shot  # noqa: E402

_n = itertools.count(1)


def name(prefix: str) -> str:
    return f"{prefix}{next(_n)}"


FORMATTED = "\n".join(
    [
        "Some **bold**, _italic_, ~~gone~~ and `x = 1` for @bobby and @here :tada:",
        "",
        "# not a title",
        "",
        "- one",
        "- two",
        "",
        "3. third",
        "4. fourth",
        "",
        "> quoted words",
        "",
        "See [the docs](https://example.com/docs?a=1&b=2) or www.example.org/page, mail ann@example.com",
        "![a cat](https://example.com/cat.png)",
        "",
        "```python",
        "def long_line():",
        "    return '" + "x" * 300 + "'",
        "```",
    ]
)


def test_markdown_renders_as_elements_and_edits_as_typed(pages, server):
    alice_name, channel = name("alice"), name("md")
    alice = pages.new()
    ui.sign_up(alice, alice_name)
    ui.create_channel(alice, channel)
    ui.send(alice, FORMATTED)
    body = ui.message(alice, "quoted words").locator(".body")
    expect(body).to_be_visible()

    expect(body.locator("strong")).to_have_text("bold")
    expect(body.locator("em")).to_have_text("italic")
    expect(body.locator("s")).to_have_text("gone")
    expect(body.locator("p code")).to_have_text("x = 1")
    mention = body.locator(".mention[data-username=bobby]")
    expect(mention).to_have_text("@bobby")
    expect(body.locator(".mention.mention-all[data-username=here]")).to_have_text("@here")
    expect(body.locator(".mention")).to_have_count(2)  # ann@example.com is an address, not a mention
    expect(body.locator(".emoji")).to_have_text("🎉")
    # headings are not drawn: the line stays as typed, the page's outline is untouched
    expect(body.locator("h1, h2, h3, h4, h5, h6")).to_have_count(0)
    expect(body).to_contain_text("# not a title")
    expect(body.locator("ul > li")).to_have_text(["one", "two"])
    expect(body.locator("ol")).to_have_attribute("start", "3")
    expect(body.locator("ol > li")).to_have_text(["third", "fourth"])
    expect(body.locator("blockquote")).to_have_text("quoted words")

    docs = body.get_by_role("link", name="the docs")
    expect(docs).to_have_attribute("href", "https://example.com/docs?a=1&b=2")
    expect(body.get_by_role("link", name="www.example.org/page")).to_have_attribute("href", "https://www.example.org/page")
    expect(body.get_by_role("link", name="ann@example.com")).to_have_attribute("href", "mailto:ann@example.com")
    for link in body.locator("a").all():
        expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
        expect(link).to_have_attribute("target", "_blank")
    # an image is not fetched: a link to it, named by its description
    expect(body.locator("img")).to_have_count(0)
    expect(body.locator("a.md-image-link")).to_have_attribute("href", "https://example.com/cat.png")
    expect(body.locator("a.md-image-link")).to_contain_text("a cat")

    # fenced code keeps its language as a class; a long line scrolls, by keyboard too
    code = body.locator("pre.md-code > code.language-python")
    expect(code).to_contain_text("def long_line():\n    return 'xxx")
    expect(body.locator("pre.md-code")).to_have_attribute("tabindex", "0")
    ui.send(alice, "```\nshort\n```")
    short = ui.message(alice, "short").locator("pre.md-code")
    expect(short).to_be_visible()
    assert short.get_attribute("tabindex") is None  # nothing to scroll: no extra tab stop
    check_a11y(alice, "messages drawn from Markdown (code, lists, quote, links, mentions)")

    # editing shows the text as it was typed, and the edit is drawn again
    ui.send(alice, "plain **strong words**")
    mine = ui.message(alice, "strong words")
    expect(mine.locator("strong")).to_have_text("strong words")
    mine.hover()
    mine.locator(".act-edit").click()
    editor = alice.locator(".edit-box textarea")
    expect(editor).to_have_value("plain **strong words**")
    editor.fill("plain _soft words_")
    editor.press("Enter")
    edited = ui.message(alice, "soft words")
    expect(edited.locator("em")).to_have_text("soft words")
    expect(edited.locator(".edited")).to_be_visible()
    shot(alice, "markdown")

    # plugins' renderers draw Markdown the same way (helpers.renderMarkdown)
    drawn = alice.evaluate(
        """async () => {
            const { helpers } = await import("/static/js/renderers.js");
            const box = document.createElement("div");
            box.append(helpers.renderMarkdown("**total** [x](javascript:alert(1)) https://example.com/r"));
            return [box.querySelector("strong")?.textContent, [...box.querySelectorAll("a")].map((a) => a.href)];
        }"""
    )
    assert drawn == ["total", ["https://example.com/r"]]
    assert pages.errors == [] and pages.dialogs == []


FLAG = "window.__venn_pwned"
ATTACKS = [
    "[a](javascript:window.__venn_pwned=1)",
    "[b](JaVaScRiPt:window.__venn_pwned=1)",
    "[c](&#106;avascript:window.__venn_pwned=1)",
    "[d](java&#x09;script:window.__venn_pwned=1)",
    "[e](<javascript:window.__venn_pwned=1>)",
    "[f](vbscript:window.__venn_pwned=1)",
    "[g](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX192ZW5uX3B3bmVkPTE8L3NjcmlwdD4=)",
    "[h](file:///etc/passwd)",
    "[i](//evil.example/x) [j](/api/v1/auth/logout) [k](#/channel/1)",
    '[l](https://ok.example/" onmouseover="window.__venn_pwned=1)',
    "<javascript:window.__venn_pwned=1> <data:text/html,x>",
    "[ref][r]\n\n[r]: javascript:window.__venn_pwned=1",
    "<img src=x onerror=window.__venn_pwned=1> <a href=javascript:window.__venn_pwned=1>m</a>",
    "`<img src=x onerror=window.__venn_pwned=1>`",
    "```html\n<script>window.__venn_pwned=1</script><img src=x onerror=window.__venn_pwned=1>\n```",
    "![n](https://pixel.example/track.png) ![o](data:image/png;base64,iVBORw0KGgo=) ![p](javascript:window.__venn_pwned=1)",
    "&lt;img src=x onerror=window.__venn_pwned=1&gt; &#60;script&#62;window.__venn_pwned=1&#60;/script&#62;",
    "**<svg onload=window.__venn_pwned=1>** _<iframe src=javascript:window.__venn_pwned=1>_",
]

# every element and attribute of the messages, for what could run or load something
INSPECT = """(root) => {
    const found = [];
    for (const el of root.querySelectorAll("*")) {
        const tag = el.tagName.toLowerCase();
        if (["script", "img", "iframe", "object", "embed", "svg", "style", "link", "form", "base"].includes(tag)) found.push(tag);
        for (const attr of el.attributes) {
            const value = attr.value.replace(/[\\s\\u0000-\\u001f]/g, "").toLowerCase();
            if (attr.name.toLowerCase().startsWith("on") || attr.name === "style" || attr.name === "srcdoc") found.push(`${tag}[${attr.name}]`);
            // (text the page keeps in data-* or title attributes is not an address)
            const address = ["href", "src", "srcset", "action", "formaction", "poster", "data", "xlink:href", "background"];
            if (address.includes(attr.name.toLowerCase()) && /(javascript|vbscript|data|file):/.test(value)) found.push(`${tag}[${attr.name}=${attr.value}]`);
        }
        if (tag === "a" && !/^(https?:\\/\\/[^/]|mailto:)/.test(el.getAttribute("href") || "")) found.push(`a[href=${el.getAttribute("href")}]`);
        if (tag === "a" && el.rel !== "noopener noreferrer nofollow") found.push(`a[rel=${el.rel}]`);
    }
    return found;
}"""


POKE = """(root) => {
    for (const el of root.querySelectorAll(".body *")) {
        for (const type of ["mouseover", "mouseenter", "focus", "animationstart"]) el.dispatchEvent(new Event(type, { bubbles: true }));
        el.addEventListener("click", (event) => event.preventDefault(), { once: true });
        el.click();
    }
}"""


def test_markdown_from_an_attacker_runs_and_loads_nothing(pages, server):
    alice_name, channel = name("alice"), name("mdxss")
    alice = pages.new()
    requested: list[str] = []
    alice.on("request", lambda request: requested.append(request.url))
    ui.sign_up(alice, alice_name)
    ui.create_channel(alice, channel)
    mallory = server.person(name("mallory"))
    channel_id = int(alice.evaluate("location.hash").split("/")[2])
    server.ok("POST", f"/channels/{channel_id}/join", token=mallory.token)
    for number, attack in enumerate(ATTACKS):
        server.ok("POST", "/messages", {"channel_id": channel_id, "body": f"attack {number}:\n{attack}"}, mallory.token)
    last = ui.message(alice, f"attack {len(ATTACKS) - 1}:")
    expect(last).to_be_visible()
    messages = ui.messages(alice)
    expect(messages.locator(".msg:not(.pending)", has_text="attack")).to_have_count(len(ATTACKS))

    # the text people typed is still there, as text
    expect(ui.message(alice, "attack 0:").locator(".body")).to_have_text("attack 0:\n[a](javascript:window.__venn_pwned=1)")
    expect(ui.message(alice, "attack 12:").locator(".body")).to_contain_text("<img src=x onerror=window.__venn_pwned=1>")
    expect(ui.message(alice, "attack 13:").locator(".body code")).to_have_text("<img src=x onerror=window.__venn_pwned=1>")
    expect(ui.message(alice, "attack 14:").locator("pre code.language-html")).to_contain_text("<script>window.__venn_pwned=1</script>")
    expect(ui.message(alice, "attack 16:").locator(".body")).to_contain_text("<img src=x onerror=window.__venn_pwned=1> <script>")
    # the one https link among them is a link, its quote marks part of its address
    quoted = ui.message(alice, "attack 9:").locator("a")
    expect(quoted).to_have_count(1)
    assert quoted.get_attribute("href").startswith("https://ok.example/")

    # point at, focus and click (without following) everything drawn: an on* handler would fire now
    messages.evaluate(POKE)
    alice.wait_for_timeout(300)
    assert messages.evaluate(INSPECT) == []
    assert alice.evaluate(f"typeof {FLAG}") == "undefined"
    assert not [url for url in requested if "pixel.example" in url or url.startswith("data:")]
    shot(alice, "markdown-attacks")
    assert pages.errors == [] and pages.dialogs == []
