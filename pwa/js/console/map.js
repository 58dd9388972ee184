// The console's city map: boundary layers from our own vector tiles (and, at city zooms, a
// picture the server draws from them), events coloured by state and by near-due/overdue.
// Without tiles (an older server, or tiles failing) the map still shows the events on a plain
// background.
import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';
import { currentToken } from '../lib/api.js';

// Overdue red, near-due amber, waiting for triage blue, with a unit green.
const COLORS = ['case', ['get', 'overdue'], '#c21818', ['get', 'near_due'], '#e08a00', ['==', ['get', 'state'], 'reported'], '#0a5bd3', '#0a7a3d'];
// A paint value interpolated linearly by zoom: zoomed(z0, v0, z1, v1, ...).
const zoomed = (...stops) => ['interpolate', ['linear'], ['zoom'], ...stops];
// The grid features drawn as areas; the rest are dots (grids too small to draw at that zoom).
const POLYGONS = ['!=', ['geometry-type'], 'Point'];
// Up to this zoom the boundaries are drawn from the server's pictures (app/geo/raster.py
// MAX_ZOOM), above it from the vector tiles: see the 'boundaries' layer.
const PICTURE_MAX_ZOOM = 10;
// An opacity of 0 while the picture shows (MapLibre then skips the layer, but a click still
// finds its features), then the given value and zoom stops.
const vectorsFrom = (first, ...stops) => ['step', ['zoom'], 0, PICTURE_MAX_ZOOM + 1, first, ...stops];

export async function cityMap(container, { onSelect, bbox } = {}) {
  if (!document.querySelector('link[data-maplibre]')) {
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = '/vendor/maplibre-gl/maplibre-gl.css';
    css.dataset.maplibre = '';
    document.head.append(css);
  }
  const tiles = (layer) => `${location.origin}/tiles/${layer}/{z}/{x}/{y}.pbf`;
  const vector = (layer, minzoom, maxzoom) => ({ type: 'vector', tiles: [tiles(layer)], minzoom, maxzoom });
  const basemap = document.documentElement.dataset.basemap;
  const style = {
    version: 8,
    sources: {
      district: vector('district', 0, 12),
      township: vector('township', 5, 14),
      // Requested from z9 only: see the villages layer.
      village: vector('village', 9, 14),
      grid: vector('grid', 7, 14),
      // Districts, townships and grids as one picture, drawn by the server from those tiles.
      // Twice the pixels on high-density screens, or its hairlines would blur.
      boundaries: { type: 'raster', tiles: [`${location.origin}/tiles/boundaries/{z}/{x}/{y}${devicePixelRatio > 1.25 ? '@2x' : ''}.png`], tileSize: 512, maxzoom: PICTURE_MAX_ZOOM },
      events: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
      keyPlaces: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
      tracks: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
      ...(basemap ? { basemap: { type: 'raster', tiles: [basemap], tileSize: 256 } } : {}),
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#f3f5f2' } },
      ...(basemap ? [{ id: 'basemap', type: 'raster', source: 'basemap' }] : []),
      // Grids from z7, where the server's tiles start: at city level 65,000 grid outlines a few
      // pixels apart would merge into a dark blot, so they start as hairlines at low opacity (a
      // texture showing where the grids are dense) and firm up as the map zooms in. Up to
      // PICTURE_MAX_ZOOM they are in the picture (below); above it, the hairline of an empty
      // fill, which costs about half of a line layer. POLYGONS keeps the dots out of the fill
      // (which would take each for a one-point ring).
      { id: 'grids', type: 'fill', source: 'grid', 'source-layer': 'grid', minzoom: 7, filter: POLYGONS, paint: { 'fill-color': 'rgba(0,0,0,0)', 'fill-outline-color': '#8fae8f', 'fill-opacity': vectorsFrom(0.85, 12, 1) } },
      // A grid too small to draw at this zoom comes as a dot (app/geo/tiles.py): all of them show.
      { id: 'grid-dots', type: 'circle', source: 'grid', 'source-layer': 'grid', minzoom: 7, filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-radius': zoomed(7, 0.6, 11, 1.5), 'circle-color': '#8fae8f', 'circle-opacity': vectorsFrom(0.8) } },
      // Patrol coverage 巡查覆盖率: grids coloured by the share covered (feature state by code).
      // Hidden until there is coverage to show (showCoverage): otherwise it would draw 65,000
      // transparent grids, fill and outline, in every frame.
      { id: 'grid-coverage', type: 'fill', source: 'grid', 'source-layer': 'grid', minzoom: 7, filter: POLYGONS, layout: { visibility: 'none' }, paint: { 'fill-color': ['interpolate', ['linear'], ['coalesce', ['feature-state', 'coverage'], -1], -1, 'rgba(0,0,0,0)', 0, '#e8877f', 0.5, '#f2c94c', 1, '#2e9d5b'], 'fill-opacity': ['case', ['==', ['coalesce', ['feature-state', 'coverage'], -1], -1], 0, ['==', ['feature-state', 'coverage'], 0], 0.22, 0.5] } },
      // Villages from z9: below it their dashed hairlines cannot be told from the grid texture,
      // yet 11,000 village outlines cost as much as the grids in every frame at city level.
      { id: 'villages', type: 'line', source: 'village', 'source-layer': 'village', minzoom: 9, paint: { 'line-color': '#6a8caf', 'line-width': zoomed(9, 0.8, 11, 1), 'line-opacity': zoomed(9, 0.8, 11, 1), 'line-dasharray': [3, 2] } },
      // Up to PICTURE_MAX_ZOOM (a whole district on screen) grids, townships and districts are
      // one picture, drawn by the server from their vector tiles in these layers' styles. With
      // WebGL in software (no GPU, bench/bench_console_map.py) a frame costs per vertex drawn:
      // as vectors the city's grid outlines and dots cost about twice an empty map's frame,
      // townships and districts another two thirds; the picture, about one empty map. The
      // vector grids stay, not drawn, so that a click finds its grid.
      { id: 'boundaries', type: 'raster', source: 'boundaries', maxzoom: PICTURE_MAX_ZOOM + 1, paint: { 'raster-fade-duration': 0 } },
      { id: 'townships', type: 'line', source: 'township', 'source-layer': 'township', minzoom: PICTURE_MAX_ZOOM + 1, paint: { 'line-color': '#3d5a80', 'line-width': 1.5 } },
      { id: 'districts', type: 'line', source: 'district', 'source-layer': 'district', minzoom: PICTURE_MAX_ZOOM + 1, paint: { 'line-color': '#1d3557', 'line-width': 2.5 } },
      { id: 'tracks', type: 'line', source: 'tracks', layout: { 'line-cap': 'round', 'line-join': 'round' }, paint: { 'line-color': '#0a5bd3', 'line-width': 4, 'line-opacity': 0.85 } },
      { id: 'key-places', type: 'circle', source: 'keyPlaces', paint: { 'circle-radius': zoomed(9, 3, 14, 6), 'circle-color': ['case', ['get', 'visit_overdue'], '#c21818', '#7b3fa0'], 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } },
      { id: 'events', type: 'circle', source: 'events', paint: { 'circle-radius': 7, 'circle-color': COLORS, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } },
      { id: 'selected', type: 'circle', source: 'events', filter: ['==', ['get', 'id'], -1], paint: { 'circle-radius': 12, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#111', 'circle-stroke-width': 3 } },
    ],
  };
  const map = new maplibregl.Map({
    container,
    style,
    ...(bbox ? { bounds: [[bbox[0], bbox[1]], [bbox[2], bbox[3]]], fitBoundsOptions: { padding: 40 } } : { center: [106.55, 29.56], zoom: 11 }),
    attributionControl: false,
    transformRequest: (url) => (url.startsWith(location.origin + '/tiles/') ? { url, headers: { Authorization: 'Bearer ' + currentToken() } } : { url }),
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  // A missing tile must not stop the map: log it and carry on with what we have.
  map.on('error', (e) => console.warn('map:', e.error && e.error.message));
  // The first moment everything in view is drawn, grids included (measured by the browser tests).
  map.once('idle', () => performance.mark('wangge-map-idle'));
  await new Promise((resolve) => map.on('load', resolve));
  map.on('click', 'events', (e) => onSelect && onSelect(e.features[0].properties.id));
  // A key place names itself on a click (no glyph server: MapLibre cannot draw labels here).
  map.on('click', 'key-places', (e) => {
    const { kind, name } = e.features[0].properties;
    new maplibregl.Popup({ closeButton: false }).setLngLat(e.lngLat).setText(`${kind} · ${name}`).addTo(map);
  });
  map.on('mouseenter', 'events', () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', 'events', () => { map.getCanvas().style.cursor = ''; });
  let fitted = !!bbox;
  return {
    map,
    setEvents(events) {
      const features = events.filter((e) => e.lon !== undefined || e.location).map((e) => {
        const coordinates = e.location ? e.location.coordinates : [e.lon, e.lat];
        return { type: 'Feature', geometry: { type: 'Point', coordinates }, properties: { id: e.id, state: e.state, near_due: !!e.near_due, overdue: !!e.overdue } };
      });
      map.getSource('events').setData({ type: 'FeatureCollection', features });
      if (!fitted && features.length) {
        const lons = features.map((f) => f.geometry.coordinates[0]);
        const lats = features.map((f) => f.geometry.coordinates[1]);
        map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]], { padding: 60, maxZoom: 15, duration: 0 });
        fitted = true;
      }
    },
    // Key places (危岩, 九小场所, …) in the console's scope, overdue visits in red.
    setKeyPlaces(places) {
      const features = places.map((p) => ({
        type: 'Feature', geometry: p.location,
        properties: { id: p.id, name: p.name, kind: p.kind_name, visit_overdue: !!p.visit_overdue },
      }));
      map.getSource('keyPlaces').setData({ type: 'FeatureCollection', features });
    },
    highlight(id) {
      map.setFilter('selected', ['==', ['get', 'id'], id ?? -1]);
    },
    // Patrol tracks (a GeoJSON geometry or FeatureCollection); the view fits the first drawn.
    setTracks(geojson, { fit = true } = {}) {
      const data = !geojson ? { type: 'FeatureCollection', features: [] }
        : geojson.type === 'FeatureCollection' ? geojson : { type: 'Feature', geometry: geojson, properties: {} };
      map.getSource('tracks').setData(data);
      const coords = (data.features || [data]).flatMap((f) => (f.geometry ? f.geometry.coordinates.flat(f.geometry.type === 'MultiLineString' ? 1 : 0) : []));
      if (fit && coords.length) {
        const lons = coords.map((c) => c[0]);
        const lats = coords.map((c) => c[1]);
        map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]], { padding: 80, maxZoom: 17, duration: 0 });
      }
    },
    // Coverage per grid (0–1) as feature state on the grid tiles; null clears the colours.
    showCoverage(items) {
      map.removeFeatureState({ source: 'grid', sourceLayer: 'grid' });
      for (const item of items || []) {
        map.setFeatureState({ source: 'grid', sourceLayer: 'grid', id: Number(item.code) }, { coverage: item.ratio });
      }
      // Only on a change: showing or hiding a layer makes MapLibre parse its source's tiles again.
      const visibility = items && items.length ? 'visible' : 'none';
      if (map.getLayoutProperty('grid-coverage', 'visibility') !== visibility) map.setLayoutProperty('grid-coverage', 'visibility', visibility);
    },
  };
}
