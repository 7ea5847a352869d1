/* batteries admin: progressive enhancement only. Every page works without this file.
   Loaded with <script defer> from the admin's own origin (no inline script), so a
   Content-Security-Policy of `script-src 'self'` is enough.

   1. Changelist: a "select all" checkbox, an "N of M selected" counter and, when the
      list has more pages, "Select all N" (sets select_across=1).
   2. Autocomplete for foreign keys: inputs with data-autocomplete-url get a listbox
      filled from `url?term=...` ({"results": [{"id": "...", "text": "..."}]}),
      navigable with ArrowUp/ArrowDown/Enter/Escape. The chosen id goes into the input.
   3. Inlines (Django's inlines.js): "Add another" clones the inline's <template> of an
      empty form, numbering its fields `<prefix>-N-...` and counting it in
      `<prefix>-TOTAL_FORMS`; a form added so can be removed again (the later ones are
      renumbered). Without JS the `extra` empty forms still work.
   4. Raw-id foreign keys: the lookup link opens the related changelist in a small window
      (without JS: a new tab); there, clicking a row's link puts its pk into the input
      (and its text beside it) and closes the window. */
(function () {
  "use strict";

  /* 1. Changelist actions */

  function initActions(form) {
    var actions = form.querySelector("#changelist-actions");
    var boxes = Array.prototype.slice.call(form.querySelectorAll("input.action-select"));
    if (!actions || boxes.length === 0) {
      return;
    }
    var toggle = form.querySelector("#action-toggle");
    var counter = actions.querySelector(".action-counter");
    var acrossInput = actions.querySelector("input.select-across");
    var question = actions.querySelector(".question");
    var all = actions.querySelector(".all");
    var clear = actions.querySelector(".clear");
    var total = boxes.length;

    function setAcross(on) {
      if (acrossInput) {
        acrossInput.value = on ? "1" : "0";
      }
      if (all) {
        all.hidden = !on;
      }
      if (clear) {
        clear.hidden = !on;
      }
      if (counter) {
        counter.hidden = on;
      }
    }

    function update() {
      var checked = 0;
      boxes.forEach(function (box) {
        var row = box.closest("tr");
        if (row) {
          row.classList.toggle("selected", box.checked);
        }
        if (box.checked) {
          checked += 1;
        }
      });
      if (toggle) {
        toggle.checked = checked === total;
        toggle.indeterminate = checked > 0 && checked < total;
      }
      if (counter) {
        counter.textContent = checked + " of " + total + " selected";
      }
      if (question) {
        question.hidden = !(checked === total && acrossInput && acrossInput.value !== "1");
      }
      if (checked !== total) {
        setAcross(false);
      }
    }

    if (toggle) {
      toggle.hidden = false;
      toggle.addEventListener("change", function () {
        boxes.forEach(function (box) {
          box.checked = toggle.checked;
        });
        update();
      });
    }
    if (counter) {
      counter.hidden = false;
    }
    boxes.forEach(function (box) {
      box.addEventListener("change", update);
    });
    if (question) {
      var selectAcross = question.querySelector("button");
      if (selectAcross) {
        selectAcross.addEventListener("click", function () {
          setAcross(true);
          question.hidden = true;
        });
      }
    }
    if (clear) {
      var clearButton = clear.querySelector("button");
      if (clearButton) {
        clearButton.addEventListener("click", function () {
          boxes.forEach(function (box) {
            box.checked = false;
          });
          setAcross(false);
          update();
          if (toggle) {
            toggle.focus();
          }
        });
      }
    }
    update();
  }

  /* 2. Autocomplete */

  var autocompleteCount = 0;

  function initAutocomplete(input) {
    var url = input.getAttribute("data-autocomplete-url");
    if (!url || typeof window.fetch !== "function") {
      return;
    }
    autocompleteCount += 1;
    var base = input.id || "autocomplete-" + autocompleteCount;
    var listId = base + "_listbox";
    var display = document.getElementById(base + "_display");
    var wrapper = input.parentNode;

    var list = document.createElement("ul");
    list.id = listId;
    list.className = "autocomplete-results";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    var label = input.labels && input.labels[0];
    if (label) {
      if (!label.id) {
        label.id = base + "_label";
      }
      list.setAttribute("aria-labelledby", label.id);
    }

    var status = document.createElement("span");
    status.className = "autocomplete-status visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");

    wrapper.appendChild(list);
    wrapper.appendChild(status);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("autocomplete", "off");

    var results = [];
    var active = -1;
    var timer = null;
    var controller = null;
    var lastTerm = null;

    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function setActive(index) {
      var items = list.children;
      if (active >= 0 && items[active]) {
        items[active].setAttribute("aria-selected", "false");
      }
      active = index;
      if (active >= 0 && items[active]) {
        items[active].setAttribute("aria-selected", "true");
        input.setAttribute("aria-activedescendant", items[active].id);
        if (typeof items[active].scrollIntoView === "function") {
          items[active].scrollIntoView({ block: "nearest" });
        }
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      var chosen = results[index];
      if (!chosen) {
        return;
      }
      input.value = String(chosen.id);
      if (display) {
        display.textContent = String(chosen.text);
      }
      lastTerm = input.value;
      close();
      status.textContent = String(chosen.text) + " selected";
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function render(items) {
      results = items;
      active = -1;
      while (list.firstChild) {
        list.removeChild(list.firstChild);
      }
      items.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = listId + "-option-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.setAttribute("data-id", String(item.id));
        li.textContent = String(item.text);
        li.addEventListener("mousedown", function (event) {
          // keep the focus in the input
          event.preventDefault();
        });
        li.addEventListener("click", function () {
          choose(i);
          input.focus();
        });
        list.appendChild(li);
      });
      if (items.length > 0) {
        open();
        status.textContent = items.length === 1 ? "1 result available" : items.length + " results available";
      } else {
        close();
        status.textContent = "No results";
      }
    }

    function search(term) {
      if (controller) {
        controller.abort();
      }
      controller = typeof AbortController === "function" ? new AbortController() : null;
      var sep = url.indexOf("?") === -1 ? "?" : "&";
      fetch(url + sep + "term=" + encodeURIComponent(term), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: controller ? controller.signal : undefined,
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          var items = data && Array.isArray(data.results) ? data.results : [];
          if (document.activeElement === input) {
            render(items);
          }
        })
        .catch(function (error) {
          if (error && error.name === "AbortError") {
            return;
          }
          render([]);
          status.textContent = "Could not load results";
        });
    }

    function schedule() {
      var term = input.value.trim();
      if (timer) {
        clearTimeout(timer);
      }
      if (term === lastTerm) {
        return;
      }
      lastTerm = term;
      if (term === "") {
        close();
        return;
      }
      timer = setTimeout(function () {
        search(term);
      }, 200);
    }

    input.addEventListener("input", schedule);
    input.addEventListener("keydown", function (event) {
      var count = results.length;
      switch (event.key) {
        case "ArrowDown":
          event.preventDefault();
          if (list.hidden) {
            if (count > 0) {
              open();
              setActive(0);
            } else {
              lastTerm = null;
              schedule();
            }
          } else if (count > 0) {
            setActive((active + 1) % count);
          }
          break;
        case "ArrowUp":
          event.preventDefault();
          if (list.hidden && count > 0) {
            open();
            setActive(count - 1);
          } else if (count > 0) {
            setActive(active <= 0 ? count - 1 : active - 1);
          }
          break;
        case "Enter":
          if (!list.hidden && active >= 0) {
            // choose, do not submit the form
            event.preventDefault();
            choose(active);
          }
          break;
        case "Escape":
          if (!list.hidden) {
            event.preventDefault();
            close();
          }
          break;
        case "Tab":
          close();
          break;
        default:
          break;
      }
    });
    input.addEventListener("blur", function () {
      close();
    });
  }

  // list_editable: running an action drops the edits made in the cells; ask first,
  // as Django's actions.js does.
  function initEditable(form) {
    var dirty = false;
    var cells = form.querySelectorAll("td.editable-cell input, td.editable-cell select");
    if (!cells.length) {
      return;
    }
    Array.prototype.forEach.call(cells, function (cell) {
      cell.addEventListener("change", function () {
        dirty = true;
      });
    });
    var go = form.querySelector("button[name=index]");
    if (go) {
      go.addEventListener("click", function (event) {
        if (
          dirty &&
          !window.confirm(
            "You have unsaved changes on individual editable fields. If you run an action, your unsaved changes will be lost."
          )
        ) {
          event.preventDefault();
        }
      });
    }
  }

  /* 3. Inlines */

  function renumber(node, prefix, index) {
    var escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    var re = new RegExp("(^|id_|\\s)" + escaped + "-(\\d+|__prefix__)-", "g");
    var replacement = prefix + "-" + index + "-";
    var all = [node].concat(Array.prototype.slice.call(node.querySelectorAll("*")));
    all.forEach(function (el) {
      ["id", "name", "for", "aria-describedby"].forEach(function (attr) {
        var v = el.getAttribute(attr);
        if (!v) {
          return;
        }
        var fixed = v.replace(re, function (_, head) {
          return head + replacement;
        });
        if (fixed !== v) {
          el.setAttribute(attr, fixed);
        }
      });
    });
    if (node.id === prefix + "-__prefix__" || new RegExp("^" + escaped + "-\\d+$").test(node.id)) {
      node.id = prefix + "-" + index;
    }
  }

  function initInline(group) {
    var prefix = group.getAttribute("data-inline-prefix");
    var template = group.querySelector("template.inline-empty-form");
    var addRow = group.querySelector(".add-row");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var max = document.getElementById("id_" + prefix + "-MAX_NUM_FORMS");
    if (!prefix || !template || !addRow || !total || !template.content) {
      return;
    }
    var button = addRow.querySelector("button.inline-addlink");
    var maxNum = max ? parseInt(max.value, 10) : NaN;

    function forms() {
      return Array.prototype.slice.call(
        group.querySelectorAll("[data-inline-form='" + prefix + "']")
      ).filter(function (el) {
        return !el.closest("template");
      });
    }

    function update() {
      var n = forms().length;
      total.value = String(n);
      addRow.hidden = !isNaN(maxNum) && n >= maxNum;
    }

    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10) || 0;
      var fragment = template.content.cloneNode(true);
      var node = fragment.firstElementChild;
      while (node && !node.hasAttribute("data-inline-form")) {
        node = node.nextElementSibling;
      }
      if (!node) {
        return;
      }
      renumber(node, prefix, index);
      var remove = node.querySelector("button.inline-deletelink");
      if (remove) {
        remove.hidden = false;
        remove.addEventListener("click", function () {
          var row = remove.closest("[data-inline-form]");
          if (row) {
            row.parentNode.removeChild(row);
          }
          forms().forEach(function (f, i) {
            renumber(f, prefix, i);
          });
          update();
        });
      }
      var list = forms();
      var last = list[list.length - 1];
      if (last) {
        last.parentNode.insertBefore(node, last.nextSibling);
      } else {
        template.parentNode.insertBefore(node, template);
      }
      update();
      Array.prototype.forEach.call(node.querySelectorAll("input[data-autocomplete-url]"), initAutocomplete);
      var first = node.querySelector("input:not([type=hidden]), select, textarea");
      if (first) {
        first.focus();
      }
      node.dispatchEvent(new CustomEvent("formset:added", { bubbles: true, detail: { prefix: prefix } }));
    });
    update();
  }

  /* 4. Raw-id lookups */

  var LOOKUP = "batteries-lookup:";

  function initRawIdLookup(link) {
    var input = link.parentNode.querySelector("input.vForeignKeyRawIdAdminField");
    if (!input || !input.id) {
      return;
    }
    link.addEventListener("click", function (event) {
      var win = window.open(link.href, LOOKUP + input.id, "width=960,height=640,scrollbars=yes,resizable=yes");
      if (win) {
        event.preventDefault();
        win.focus();
      }
    });
  }

  function initLookupPopup() {
    if (window.name.indexOf(LOOKUP) !== 0 || !window.opener) {
      return;
    }
    var target = null;
    var opener = window.opener;
    try {
      target = opener.document.getElementById(window.name.slice(LOOKUP.length));
    } catch (e) {
      return; // not the admin's own window
    }
    var list = document.getElementById("result_list");
    if (!target || !list) {
      return;
    }
    document.body.classList.add("lookup-popup");
    list.addEventListener("click", function (event) {
      var link = event.target.closest("a");
      var row = link && link.closest("tr[data-pk]");
      if (!row) {
        return;
      }
      event.preventDefault();
      target.value = row.getAttribute("data-pk");
      var display = opener.document.getElementById(target.id + "_display");
      if (display) {
        display.textContent = link.textContent.trim();
      }
      target.dispatchEvent(new opener.Event("change", { bubbles: true }));
      target.focus();
      window.close();
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("a.related-lookup"), initRawIdLookup);
    initLookupPopup();
    Array.prototype.forEach.call(
      document.querySelectorAll(".js-inline-admin-formset[data-inline-prefix]"),
      initInline
    );
    var form = document.getElementById("changelist-form");
    if (form) {
      initActions(form);
      initEditable(form);
    }
    var inputs = document.querySelectorAll("input[data-autocomplete-url]");
    Array.prototype.forEach.call(inputs, initAutocomplete);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
