/** OpenAPI pieces shared by the upload routes: the option fields (from the CLI's definitions) and the bodies. */
import { fieldDocs } from '../../options/fields.js';
import { problemSchema } from '../problem.js';

export function optionProperties(video: boolean): Record<string, object> {
  const props: Record<string, object> = {};
  for (const [name, doc] of Object.entries(fieldDocs(video))) {
    props[name] = { type: 'string', description: doc.description, ...(doc.enum ? { enum: doc.enum } : {}), ...(doc.default !== undefined ? { default: String(doc.default) } : {}) };
  }
  return props;
}

/** multipart/form-data with `file` (+ `background`) and the option fields, or the file itself as an image/* (or video/*) body. */
export function uploadBody(video: boolean, extra: Record<string, object> = {}) {
  const kinds = video ? 'photo or video' : 'photo';
  return {
    content: {
      'multipart/form-data': {
        schema: {
          type: 'object',
          required: ['file'],
          properties: {
            file: { type: 'string', format: 'binary', description: `the ${kinds}` },
            background: { type: 'string', format: 'binary', description: 'a background image (with effect=background)' },
            ...optionProperties(video),
            ...extra,
          },
        },
      },
      'image/*': { schema: { type: 'string', format: 'binary', description: 'the photo itself; options as query parameters' } },
      ...(video ? { 'video/*': { schema: { type: 'string', format: 'binary', description: 'the video itself; options as query parameters' } } } : {}),
    },
  };
}

export function errorResponses(...statuses: number[]): Record<number, object> {
  const out: Record<number, object> = {};
  for (const s of statuses) out[s] = { description: 'problem details (application/problem+json)', content: { 'application/problem+json': { schema: problemSchema } } };
  return out;
}
