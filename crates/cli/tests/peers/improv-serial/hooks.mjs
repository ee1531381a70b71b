// The SDK ships browser-style ES modules: extensionless relative imports, and no
// "type": "module" in its package.json. These loader hooks let Node load them as they are.
const SDK = "/node_modules/improv-wifi-serial-sdk/";

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (specifier.startsWith(".") && !specifier.endsWith(".js")) {
      return next(`${specifier}.js`, context);
    }
    throw error;
  }
}

export async function load(url, context, next) {
  if (url.includes(SDK)) {
    return next(url, { ...context, format: "module" });
  }
  return next(url, context);
}
