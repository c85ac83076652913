// Shared set-up for the unit tests of www/js: the modules are ES modules that expect a
// browser's DOMParser; Node gets @xmldom/xmldom's, strict (errors throw instead of warning).
import { createRequire } from 'node:module';
import { setDOMParser } from '../../www/js/xml.js';

const require = createRequire(import.meta.url);
const { DOMParser } = require('@xmldom/xmldom');

class StrictDOMParser extends DOMParser {
  constructor() {
    super({
      onError: (level, message) => {
        if (level !== 'warning') throw new Error(message);
      },
    });
  }
}

setDOMParser(StrictDOMParser);

export const WWW = new URL('../../www/js/', import.meta.url);
