using System.Buffers;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>The shape of every <c>Socks5Parser.TryParse*</c> method, so the test client can read any message with them.</summary>
internal delegate bool MessageParser<T>(ref ReadOnlySequence<byte> buffer, out T message);
