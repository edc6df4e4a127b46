/** This build's version, from package.json: `--version`, OTLP's service.version and scope version. */
// dist/src/product-version.js → the repository's package.json
export const PRODUCT_VERSION: string = (require('../../package.json') as { version: string }).version;
