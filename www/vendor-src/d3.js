// The parts of d3 (ISC licence) the page's plots use, bundled by scripts/vendor.sh into
// www/vendor/d3.js: nice axis ticks, the viridis colour map, and the Mollweide projection
// with its graticule and outline, drawn straight onto a canvas.
export { ticks } from 'd3-array';
export { interpolateViridis } from 'd3-scale-chromatic';
export { geoGraticule, geoPath } from 'd3-geo';
export { geoMollweide } from 'd3-geo-projection';
