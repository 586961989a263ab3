import { measureClientSize } from './bench/client-size.ts';
const s = await measureClientSize(); console.log(s.minified, s.gzipped, s.code.includes('padStart'));
