import { readFileSync } from 'node:fs';
import { readTflite } from '../work/main/src/core/tflite/reader.ts';
for (const f of ['selfie_segmentation.tflite','selfie_segmentation_landscape.tflite']) {
  const m = readTflite(readFileSync('/work/main/node_modules/@mediapipe/selfie_segmentation/'+f));
  console.log(f, m.tensors.length, m.operators.length, m.inputs, m.outputs, m.tensors[m.inputs[0]].shape);
  const seen = new Map<number, number>();
  for (const op of m.operators) seen.set(op.builtinCode, (seen.get(op.builtinCode)??0)+1);
  console.log([...seen]);
  for (const op of m.operators) {
    if ([0,18,40,1,23,32].includes(op.builtinCode)) {
      const ins = op.inputs.map(i => i<0?'-':`${m.tensors[i].shape.join('x')}${m.tensors[i].data?'C':''}t${m.tensors[i].type}`);
      console.log(op.builtinCode, op.customCode, ins.join(' '), '->', op.outputs.map(i=>m.tensors[i].shape.join('x')).join(' '), op.customOptions ? [...op.customOptions] : '', [0,1,2,3,4,5].map(i=>op.option(i,'int32')));
    }
  }
}
