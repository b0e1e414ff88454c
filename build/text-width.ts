/**
 * A string's width in terminal columns, as string-width measures it, without string-width's start-up
 * cost for the common case: text made only of characters one column wide (printable ASCII, Latin-1,
 * and General Punctuation such as … – — ’ “ •) is as wide as it is long; anything else (escapes, wide,
 * combining or invisible characters) goes to the full measure, loaded on first use. Importing
 * string-width builds an Intl.Segmenter and Unicode-property regexes (~40 ms), and yargs needs a width
 * for every line of `--help`, which is such text. The unit test checks every character of the set
 * against string-width itself.
 */
export type Width = (text: string, options?: { ambiguousIsNarrow?: boolean; countAnsiEscapeCodes?: boolean }) => number;

/**
 * One column each in string-width with its default options (Latin-1 and General Punctuation are East
 * Asian "ambiguous", narrow by default). Left out: controls, the soft hyphen U+00AD, the line and
 * paragraph separators and the invisible formatting characters U+2028–U+202F and from U+205F.
 */
export const ONE_COLUMN = /^[\x20-\x7e\xa0-\xac\xae-\xff\u2010-\u2027\u2030-\u205e]*$/;

export function asciiFirst(loadFull: () => Width): Width {
  let full: Width | undefined;
  return (text, options) => {
    const defaults = options === undefined || (options.ambiguousIsNarrow !== false && options.countAnsiEscapeCodes !== true);
    if (defaults && typeof text === 'string' && ONE_COLUMN.test(text)) return text.length;
    full ??= loadFull();
    return full(text, options);
  };
}
