/* 数字鲁南 pages: draw the ECharts charts from the JSON each page embeds, and keep keyboard
   focus where the answer to a form appears after an htmx swap. No inline script anywhere:
   the pages' Content-Security-Policy allows only this node's own files. */
(function () {
  "use strict";

  function drawCharts(root) {
    if (typeof window.echarts === "undefined") {
      return;
    }
    root.querySelectorAll("script[data-chart]").forEach(function (data) {
      var el = document.getElementById(data.getAttribute("data-chart"));
      if (!el || el.getAttribute("data-drawn")) {
        return;
      }
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(JSON.parse(data.textContent));
      el.setAttribute("data-drawn", "1");
    });
  }

  function resizeCharts() {
    if (typeof window.echarts === "undefined") {
      return;
    }
    document.querySelectorAll("[data-drawn]").forEach(function (el) {
      var chart = window.echarts.getInstanceByDom(el);
      if (chart) {
        chart.resize();
      }
    });
  }

  function focusAnswer(root) {
    var target = root.querySelector("[aria-invalid='true'], .form-error, .flash, .error-page h1");
    if (!target) {
      return;
    }
    if (!/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(target.tagName)) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.target && event.target.isConnected ? event.target : document;
    drawCharts(root);
    if (event.detail && event.detail.requestConfig && event.detail.requestConfig.verb === "post") {
      focusAnswer(root);
    }
  });
  var pending;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(resizeCharts, 150);
  });
})();
