export { decodePageCursor, encodePageCursor } from './page-cursor.js';
