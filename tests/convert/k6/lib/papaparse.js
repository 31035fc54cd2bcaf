// A stand-in for jslib's papaparse (the tests run offline): `parse(text, {header: true})`
// of a simple CSV (no quoted commas), returning `{data: [..rows]}` as papaparse does.
export default {
  parse(text, opts) {
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    if (!opts || !opts.header) {
      return { data: lines.map((l) => l.split(',')) };
    }
    const head = lines[0].split(',');
    return {
      data: lines.slice(1).map((l) => {
        const cells = l.split(',');
        const row = {};
        head.forEach((h, i) => { row[h] = cells[i]; });
        return row;
      }),
    };
  },
};
