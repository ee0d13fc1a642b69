namespace Iwrs.Functions;

/// <summary>HTTP API settings (section <c>Api</c>).</summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>Largest request body accepted, in bytes. Default 1 MiB (a kit list of ~20,000 kits).</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;
}
