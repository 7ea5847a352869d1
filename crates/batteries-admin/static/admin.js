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
      (and its text beside it) and closes the window.
   5. filter_horizontal: a <select multiple data-filter-horizontal="tags"> becomes
      Django's dual list: "Available" (with a filter box) and "Chosen", moved between
      with buttons, double-click or Enter. The original select stays in the form, hidden,
      as the control that is submitted, kept in sync. */
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
      Array.prototype.forEach.call(node.querySelectorAll("a.related-lookup"), initRawIdLookup);
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

  /* 5. filter_horizontal */

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function initSelectFilter(select) {
    var name = select.getAttribute("data-filter-horizontal") || "items";
    var base = select.id || "id_" + select.name;
    var originals = Array.prototype.slice.call(select.options);
    var widget = select.parentNode;

    var box = make("div", "selector");
    box.id = base + "_selector";

    // Available, with its filter box and "Choose all".
    var available = make("div", "selector-available");
    var fromTitle = make("h3", "selector-title", "Available " + name);
    fromTitle.id = base + "_from_title";
    var filterRow = make("p", "selector-filter");
    var filterLabel = make("label", "visually-hidden", "Filter available " + name);
    var filter = make("input", "selector-filter-input");
    filter.type = "search";
    filter.id = base + "_input";
    filter.placeholder = "Filter";
    filter.autocomplete = "off";
    filter.spellcheck = false;
    filterLabel.htmlFor = filter.id;
    filterRow.appendChild(filterLabel);
    filterRow.appendChild(filter);
    var from = make("select", "filtered selector-from");
    from.multiple = true;
    from.id = base + "_from";
    from.size = 10;
    from.setAttribute("aria-labelledby", fromTitle.id);
    filter.setAttribute("aria-controls", from.id);
    var chooseAll = make("button", "selector-chooseall", "Choose all");
    chooseAll.type = "button";
    chooseAll.id = base + "_add_all";
    chooseAll.setAttribute("aria-label", "Choose all " + name);
    available.appendChild(fromTitle);
    available.appendChild(filterRow);
    available.appendChild(from);
    available.appendChild(chooseAll);

    // The arrows between the lists.
    var chooser = make("ul", "selector-chooser");
    var choose = make("button", "selector-add", "Choose \u2192");
    choose.type = "button";
    choose.id = base + "_add";
    choose.setAttribute("aria-label", "Choose selected " + name);
    var remove = make("button", "selector-remove", "\u2190 Remove");
    remove.type = "button";
    remove.id = base + "_remove";
    remove.setAttribute("aria-label", "Remove selected " + name);
    [choose, remove].forEach(function (button) {
      var li = make("li");
      li.appendChild(button);
      chooser.appendChild(li);
    });

    // Chosen, with "Remove all".
    var chosenBox = make("div", "selector-chosen");
    var toTitle = make("h3", "selector-title", "Chosen " + name);
    toTitle.id = base + "_to_title";
    var to = make("select", "filtered selector-to");
    to.multiple = true;
    to.id = base + "_to";
    to.size = 10;
    to.setAttribute("aria-labelledby", toTitle.id);
    var removeAll = make("button", "selector-clearall", "Remove all");
    removeAll.type = "button";
    removeAll.id = base + "_remove_all";
    removeAll.setAttribute("aria-label", "Remove all " + name);
    chosenBox.appendChild(toTitle);
    chosenBox.appendChild(to);
    chosenBox.appendChild(removeAll);

    var status = make("p", "selector-status visually-hidden");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    status.id = base + "_status";

    var help = select.getAttribute("aria-describedby");
    [from, to].forEach(function (list) {
      list.setAttribute("aria-describedby", (help ? help + " " : "") + base + "_keys");
      if (select.getAttribute("aria-invalid") === "true") {
        list.setAttribute("aria-invalid", "true");
      }
    });
    var keys = make(
      "p",
      "help selector-help",
      "Select with the arrow keys (Shift for several), then press Enter or double-click to move."
    );
    keys.id = base + "_keys";

    box.appendChild(available);
    box.appendChild(chooser);
    box.appendChild(chosenBox);
    box.appendChild(status);
    widget.insertBefore(box, select);
    widget.insertBefore(keys, select);
    // The original stays the submitted control, out of sight and out of the tab order.
    select.hidden = true;
    select.tabIndex = -1;
    var hint = widget.querySelector(".m2m-hint");
    if (hint) {
      hint.hidden = true;
    }
    var label = document.querySelector("label[for='" + base + "']");
    if (label) {
      label.htmlFor = filter.id;
    }

    function highlighted(list) {
      var values = {};
      Array.prototype.forEach.call(list.options, function (o) {
        if (o.selected) {
          values[o.value] = true;
        }
      });
      return values;
    }

    function render(keepFrom, keepTo) {
      var term = filter.value.trim().toLowerCase();
      while (from.firstChild) {
        from.removeChild(from.firstChild);
      }
      while (to.firstChild) {
        to.removeChild(to.firstChild);
      }
      originals.forEach(function (original) {
        var option = new Option(original.text, original.value);
        option.title = original.text;
        if (original.selected) {
          option.selected = !!(keepTo && keepTo[original.value]);
          to.appendChild(option);
        } else if (term === "" || original.text.toLowerCase().indexOf(term) !== -1) {
          option.selected = !!(keepFrom && keepFrom[original.value]);
          from.appendChild(option);
        }
      });
    }

    /* Moves the highlighted options of `list` (all of them with `all`) to the other
       side. The option now where the first moved one was is highlighted, so the
       keyboard can go on from there. */
    function move(list, toChosen, all) {
      var values = {};
      var moved = [];
      var first = -1;
      Array.prototype.forEach.call(list.options, function (o, i) {
        if (all || o.selected) {
          values[o.value] = true;
          moved.push(o.text);
          if (first < 0) {
            first = i;
          }
        }
      });
      if (moved.length === 0) {
        return;
      }
      originals.forEach(function (original) {
        if (values[original.value]) {
          original.selected = toChosen;
        }
      });
      render(null, null);
      if (!all && list.options.length > 0) {
        list.options[Math.min(first, list.options.length - 1)].selected = true;
      }
      var what = moved.length === 1 ? moved[0] : moved.length + " " + name;
      status.textContent = what + (toChosen ? " chosen." : " removed.") + " " + to.options.length + " chosen in all.";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function onListKey(list, toChosen) {
      return function (event) {
        if (event.key === "Enter") {
          event.preventDefault();
          move(list, toChosen, false);
        }
      };
    }

    /* The double-click's first click has highlighted the option under the mouse; the
       event's target is that option, or the select itself while it holds the mouse. */
    function onDoubleClick(list, toChosen) {
      return function (event) {
        var option = event.target;
        if (option && option.tagName === "OPTION") {
          Array.prototype.forEach.call(list.options, function (o) {
            o.selected = o === option;
          });
        }
        move(list, toChosen, false);
      };
    }

    from.addEventListener("keydown", onListKey(from, true));
    to.addEventListener("keydown", onListKey(to, false));
    from.addEventListener("dblclick", onDoubleClick(from, true));
    to.addEventListener("dblclick", onDoubleClick(to, false));
    choose.addEventListener("click", function () {
      move(from, true, false);
    });
    remove.addEventListener("click", function () {
      move(to, false, false);
    });
    chooseAll.addEventListener("click", function () {
      move(from, true, true);
    });
    removeAll.addEventListener("click", function () {
      move(to, false, true);
    });

    filter.addEventListener("input", function () {
      render(highlighted(from), highlighted(to));
      var n = from.options.length;
      status.textContent = n === 1 ? "1 available" : n + " available";
    });
    filter.addEventListener("keydown", function (event) {
      switch (event.key) {
        case "Enter":
          // Move what is highlighted (or the only match); never submit the form.
          event.preventDefault();
          if (from.selectedIndex === -1 && from.options.length === 1) {
            from.options[0].selected = true;
          }
          move(from, true, false);
          break;
        case "ArrowDown":
          if (from.options.length > 0) {
            event.preventDefault();
            if (from.selectedIndex === -1) {
              from.options[0].selected = true;
            }
            from.focus();
          }
          break;
        default:
          break;
      }
    });

    render(null, null);
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
    var pickers = document.querySelectorAll("select[multiple][data-filter-horizontal]");
    Array.prototype.forEach.call(pickers, initSelectFilter);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
