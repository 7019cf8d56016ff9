import { useMemo } from "preact/hooks";
import { timeZones } from "../tz";

/** A searchable IANA time zone field: a text input with the browser's zone list as suggestions. */
export function TimezoneInput({ id, value, onInput, describedBy, invalid }: { id: string; value: string; onInput: (v: string) => void; describedBy?: string; invalid?: boolean }) {
  const zones = useMemo(timeZones, []);
  return (
    <>
      <input
        id={id}
        type="text"
        list={`${id}-list`}
        value={value}
        autocomplete="off"
        spellcheck={false}
        placeholder="Type to search, e.g. America/New_York"
        aria-describedby={describedBy}
        aria-invalid={invalid || undefined}
        onInput={(e) => onInput((e.currentTarget as HTMLInputElement).value)}
      />
      <datalist id={`${id}-list`}>
        {zones.map((z) => (
          <option key={z} value={z} />
        ))}
      </datalist>
    </>
  );
}
