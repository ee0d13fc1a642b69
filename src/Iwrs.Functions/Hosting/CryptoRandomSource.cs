using System.Security.Cryptography;
using Iwrs.Domain.Supply;

namespace Iwrs.Functions.Hosting;

/// <summary>The product's random source: the operating system's cryptographically sound generator.</summary>
public sealed class CryptoRandomSource : IRandomSource
{
    public int Next(int maxExclusive) => RandomNumberGenerator.GetInt32(maxExclusive);
}
