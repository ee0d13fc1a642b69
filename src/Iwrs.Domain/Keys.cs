namespace Iwrs.Domain;

/// <summary>
/// Identifiers that end up in Table Storage keys (study, site, user, arm and kit type codes). The service
/// forbids / \ # ? and control characters in keys; we allow a narrower, readable set so that an identifier
/// never needs escaping anywhere (URLs, CSV, SMS) and '|' stays free as our key separator.
/// </summary>
public static class Identifiers
{
    public const int MaxLength = 64;

    public static bool IsValid(string? value, int maxLength = MaxLength)
    {
        if (string.IsNullOrEmpty(value) || value.Length > maxLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    public const string Rule = "1 to 64 characters: ASCII letters, digits, '-', '_' or '.'";
}
