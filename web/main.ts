/// <reference lib="dom" />
/**
 * Entry point. In a build, onnxruntime-web's proxy worker loads a chunk that imports the bundler's
 * shared helpers from the app's chunk, so the app starts only where there is a document.
 */
import { startApp } from './app.js';

if (typeof document !== 'undefined') startApp();
