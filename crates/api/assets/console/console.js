// The operator console's own script: htmx settings, errors shown in place,
// and the sites map (Leaflet, loaded only on the page that has one).
(function () {
  "use strict";
  // Failures (409 offline, 422 bad input, 504 no answer...) carry a
  // message written for people: show it where the answer would go. A 401
  // comes with HX-Redirect to the sign-in page, which htmx follows.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var status = e.detail.xhr.status;
    if (status >= 400 && status !== 401) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
  // A live table keeps its content while the network is away.
  document.addEventListener("htmx:sendError", function () {});

  function drawMap() {
    var element = document.getElementById("map");
    var data = document.getElementById("map-data");
    if (!element || !data) return;
    var sites = [];
    try { sites = JSON.parse(data.textContent || "[]"); } catch (err) { sites = []; }
    var load = function () {
      var L = window.L;
      var map = L.map(element, { attributionControl: true });
      var tiles = element.getAttribute("data-tiles");
      if (tiles) {
        L.tileLayer(tiles, { maxZoom: 19, attribution: element.getAttribute("data-attribution") || "" }).addTo(map);
      }
      var points = [];
      var markers = {};
      var colour = function (site) {
        if (site.chargers.length === 0) return "#6e7781";
        return site.online === site.chargers.length ? "#116329" : "#a40e26";
      };
      sites.forEach(function (site) {
        var marker = L.circleMarker([site.lat, site.lng], {
          radius: 9, weight: 2, color: colour(site), fillOpacity: 0.7
        }).addTo(map);
        markers[site.id] = marker;
        var list = document.createElement("div");
        var title = document.createElement("strong");
        title.textContent = site.name + " (" + site.online + "/" + site.chargers.length + " online)";
        list.appendChild(title);
        site.chargers.forEach(function (id) {
          var link = document.createElement("a");
          link.href = "/console/chargers/" + encodeURIComponent(id);
          link.textContent = id;
          list.appendChild(document.createElement("br"));
          list.appendChild(link);
        });
        marker.bindPopup(list);
        points.push([site.lat, site.lng]);
      });
      if (points.length) { map.fitBounds(points, { padding: [24, 24], maxZoom: 14 }); }
      else { map.setView([20, 0], 2); }
      // Chargers come and go: the colours follow every five seconds.
      setInterval(function () {
        fetch("/console/map-data", { credentials: "same-origin", redirect: "manual" })
          // A session that ended answers with the sign-in page: no update.
          .then(function (r) {
            var json = (r.headers.get("content-type") || "").indexOf("application/json") === 0;
            return r.ok && json ? r.json() : [];
          })
          .then(function (fresh) {
            fresh.forEach(function (site) {
              var marker = markers[site.id];
              if (marker) marker.setStyle({ color: colour(site) });
            });
            element.setAttribute("data-online", fresh.map(function (s) {
              return s.online + "/" + s.chargers.length;
            }).join(" "));
          })
          .catch(function () {});
      }, 5000);
    };
    var css = document.createElement("link");
    css.rel = "stylesheet"; css.href = "/console/assets/leaflet.css";
    document.head.appendChild(css);
    var script = document.createElement("script");
    script.src = "/console/assets/leaflet.js";
    script.onload = load;
    document.head.appendChild(script);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawMap);
  else drawMap();
})();
