using System.Buffers;

namespace KestrelSocks.Tests.Infrastructure;

/// <summary>The shape every <c>Socks5Parser.TryParse*</c> method has.</summary>
internal delegate bool SequenceParser<T>(ref ReadOnlySequence<byte> buffer, out T value);
