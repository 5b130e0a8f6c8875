// Draws each chart when it scrolls into view (a page of 5,000 alerts stays quick), and filters
// cards and charts by rule, story, kind and severity.
(function () {
  const figures = JSON.parse(document.getElementById("figures").textContent);
  const draw = (el) => {
    if (el.dataset.drawn) return;
    el.dataset.drawn = "1";
    const fig = JSON.parse(figures[el.id]);
    Plotly.newPlot(el, fig.data, fig.layout, {displayModeBar: false, responsive: true});
  };
  const charts = Array.from(document.querySelectorAll(".chart"));
  // the charts on the first screen at once, the others as they scroll into view
  const onScreen = (el) => el.getBoundingClientRect().top < window.innerHeight + 400;
  if ("IntersectionObserver" in window) {
    const seen = new IntersectionObserver((entries) => entries.forEach((e) => {
      if (e.isIntersecting) { draw(e.target); seen.unobserve(e.target); }
    }), {rootMargin: "400px"});
    charts.forEach((c) => (onScreen(c) ? draw(c) : seen.observe(c)));
  } else {
    charts.forEach(draw);
  }
  const selects = Array.from(document.querySelectorAll("select.filter"));
  const fits = (el, name, want) => {
    const have = el.dataset[name === "kind" ? "kinds" : name];
    return !want || have === "*" || have.split(" ").includes(want);
  };
  const apply = () => {
    const want = Object.fromEntries(selects.map((s) => [s.name, s.value]));
    let shown = 0;
    document.querySelectorAll(".alert").forEach((el) => {
      const ok = Object.entries(want).every(([n, v]) => fits(el, n, v));
      el.classList.toggle("hidden", !ok);
      if (ok) shown += 1;
    });
    document.querySelectorAll(".chart").forEach((el) => {
      el.classList.toggle("hidden", !fits(el, "rule", want.rule) || !fits(el, "story", want.story));
    });
    document.querySelectorAll("table.noise tr[data-rule]").forEach((el) => {
      el.classList.toggle("hidden", !fits(el, "rule", want.rule));
    });
    document.querySelectorAll("section.rule").forEach((el) => {
      const any = want.story || want.kind || want.severity;
      const hide = !fits(el, "rule", want.rule) || (any && !el.querySelector(".alert:not(.hidden)"));
      el.classList.toggle("hidden", Boolean(hide));
    });
    document.getElementById("count").textContent = shown + " alerts shown";
    charts.filter((c) => c.dataset.drawn && !c.classList.contains("hidden"))
      .forEach((c) => Plotly.Plots.resize(c));
  };
  selects.forEach((s) => s.addEventListener("change", () => {
    const set = selects.filter((x) => x.value).map((x) => x.name + "=" + encodeURIComponent(x.value));
    history.replaceState(null, "", set.length ? "#" + set.join("&") : location.pathname);
    apply();
  }));
  // a filtered view can be shared as a link: report.html#rule=r1&kind=silence
  const wanted = new URLSearchParams(location.hash.slice(1));
  selects.forEach((s) => { if (wanted.get(s.name)) s.value = wanted.get(s.name); });
  if (selects.some((s) => s.value)) apply();
})();
