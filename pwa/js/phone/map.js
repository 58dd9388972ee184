// The phone's map: the worker's own grids and a point that can be dragged into place.
// Leaflet (42 KB) rather than a WebGL library: phones on weak signal download it once, and a
// few polygons need no GPU. Grid outlines are cached for offline use.
import * as L from '/vendor/leaflet/leaflet-src.esm.js';
import { api } from '../lib/api.js';
import { kv } from '../lib/db.js';

export async function myGrids() {
  const me = (await kv.get('me')) || {};
  const codes = (me.user && me.user.grids) || [];
  const cached = (await kv.get('grids')) || {};
  const shapes = [];
  for (const code of codes) {
    if (!cached[code]) {
      try {
        cached[code] = await api.get('/areas/' + code);
      } catch (err) {
        continue;
      }
    }
    shapes.push(cached[code]);
  }
  await kv.set('grids', cached);
  return shapes;
}

export async function gridMap(container, { draggable = false, onMove } = {}) {
  const grids = await myGrids();
  // Nothing to show someone without grids (a department handler) but a blank square.
  if (!grids.length && !draggable) throw new Error('no grids');
  const map = L.map(container, { zoomControl: false, attributionControl: false });
  const basemap = document.documentElement.dataset.basemap;
  if (basemap) L.tileLayer(basemap, { maxZoom: 19 }).addTo(map);
  const layer = L.geoJSON(
    grids.map((g) => ({ type: 'Feature', geometry: g.geometry, properties: { name: g.name } })),
    { style: { color: '#0b5', weight: 2, fillOpacity: 0.08 } },
  ).addTo(map);
  if (grids.length) map.fitBounds(layer.getBounds(), { padding: [8, 8] });
  else map.setView([29.56, 106.57], 13);

  let marker = null;
  function setPoint([lon, lat]) {
    if (!marker) {
      marker = L.circleMarker([lat, lon], { radius: 9, color: '#d22', fillOpacity: 0.9 }).addTo(map);
    } else {
      marker.setLatLng([lat, lon]);
    }
    map.panTo([lat, lon]);
  }
  if (draggable) {
    // Tapping the map moves the point: easier than dragging a pin with a thumb.
    map.on('click', (e) => {
      setPoint([e.latlng.lng, e.latlng.lat]);
      if (onMove) onMove([e.latlng.lng, e.latlng.lat]);
    });
  }
  return { map, setPoint };
}
