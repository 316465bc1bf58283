// The party page's charts, drawn with Chart.js from the JSON the server put in #party-data.
(function () {
  "use strict";
  const source = document.getElementById("party-data");
  if (!source || !window.Chart) return;
  const d = JSON.parse(source.textContent);
  Chart.defaults.animation = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.maintainAspectRatio = false;

  const BLUE = "#3b6fb6";
  const EVENING = "#d9480f";
  const GREY = "#9aa5b1";
  const evening = new Set(d.evening_hours);
  const hourLabels = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));

  // 0.412, 0.05, 0.000042: never 5.00000000E-8
  function points(value) {
    const v = Number(value);
    if (v === 0) return "0";
    if (Math.abs(v) >= 0.001) return String(Number(v.toFixed(3)));
    return v.toPrecision(2);
  }

  function chart(id, config) {
    const canvas = document.getElementById(id);
    if (canvas) new Chart(canvas, config);
  }

  chart("chart-contributions", {
    type: "bar",
    data: {
      labels: d.contributions.map((c) => c.indicator + " " + c.title),
      datasets: [{ label: "contribution to the score", data: d.contributions.map((c) => c.value), backgroundColor: EVENING }],
    },
    options: {
      indexAxis: "y",
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (item) => "+" + points(item.raw) } },
      },
      scales: {
        // every indicator named (the box grows with their number), ticks in plain decimals
        y: { ticks: { autoSkip: false } },
        x: {
          beginAtZero: true,
          title: { display: true, text: "points of the score (0 to 1)" },
          ticks: { maxTicksLimit: 6, callback: (value) => points(value) },
        },
      },
    },
  });

  chart("chart-timeline", {
    data: {
      labels: d.months,
      datasets: [
        { type: "bar", label: "payments", data: d.monthly_payments, backgroundColor: BLUE, yAxisID: "y" },
        { type: "line", label: "amount (" + d.currency + ")", data: d.monthly_amount, borderColor: EVENING, backgroundColor: EVENING, yAxisID: "y2", tension: 0.2, pointRadius: 2 },
      ],
    },
    options: {
      scales: {
        y: { beginAtZero: true, title: { display: true, text: "payments" }, ticks: { precision: 0 } },
        y2: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: d.currency } },
      },
    },
  });

  // Both hour charts share one scale, so the two time zones compare at a glance.
  const hourMax = Math.max(1, ...d.hours_sender, ...d.hours_beneficiary);
  function hourChart(id, counts, who) {
    chart(id, {
      type: "bar",
      data: {
        labels: hourLabels,
        datasets: [{ label: "payments by hour, " + who, data: counts, backgroundColor: hourLabels.map((_, h) => (evening.has(h) ? EVENING : GREY)) }],
      },
      options: {
        plugins: { legend: { display: false } },
        scales: {
          x: { title: { display: true, text: "hour (" + who + ")" } },
          y: { beginAtZero: true, suggestedMax: hourMax, ticks: { precision: 0 }, title: { display: true, text: "payments" } },
        },
      },
    });
  }
  hourChart("chart-hours-sender", d.hours_sender, "sender's local time");
  hourChart("chart-hours-beneficiary", d.hours_beneficiary, "beneficiary's local time");

  chart("chart-amounts", {
    type: "bar",
    data: {
      labels: d.amount_bins,
      datasets: [{ label: "payments", data: d.amount_counts, backgroundColor: BLUE }],
    },
    options: {
      plugins: { legend: { display: false } },
      scales: {
        x: { title: { display: true, text: "amount (" + d.currency + ")" } },
        y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "payments" } },
      },
    },
  });
})();
