namespace Iwrs.Functions;

/// <summary>HTTP API settings (section <c>Api</c>).</summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>Largest request body accepted, in bytes. Default 1 MiB (a kit list of ~20,000 kits).</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Whether a study may use the subject-pack supply design (<c>supply.subjectPacks</c>). Off by default: the
    /// service runs only part of it so far (README, "Subject packs"), and a study loaded with it is refused
    /// (<c>subject-packs-preview</c>).
    /// </summary>
    public bool SubjectPacksPreview { get; set; }
}
