/**
 * Words as a reader sees them: ICU word boundaries, so languages written without spaces (CJK, Thai) split
 * too, and punctuation is not a word. One segmenter for the planner (reading time) and the rules responder
 * (keyword matching), built once: constructing one loads ICU break data.
 */
const segmenter = new Intl.Segmenter(undefined, { granularity: 'word' });

export const wordsIn = (text: string): string[] => {
  const out: string[] = [];
  for (const s of segmenter.segment(text)) if (s.isWordLike) out.push(s.segment);
  return out;
};
