/**
 * 8250/16550 register offsets and bits, named as include/uapi/linux/serial_reg.h
 * names them, so the guest driver reads like the Linux driver it imitates and a
 * student can grep the kernel header for any constant seen here.
 */
export const UART_RX = 0; // in:  receive buffer (DLAB=0)
export const UART_TX = 0; // out: transmit holding (DLAB=0)
export const UART_DLL = 0; // divisor latch low (DLAB=1)
export const UART_IER = 1;
export const UART_DLM = 1; // divisor latch high (DLAB=1)
export const UART_IIR = 2; // in
export const UART_FCR = 2; // out
export const UART_LCR = 3;
export const UART_MCR = 4;
export const UART_LSR = 5;
export const UART_MSR = 6;
export const UART_SCR = 7;

export const UART_IER_RDI = 0x01;
export const UART_IER_THRI = 0x02;
export const UART_IER_RLSI = 0x04;
export const UART_IER_MSI = 0x08;

export const UART_IIR_NO_INT = 0x01;
export const UART_IIR_ID = 0x0e;

export const UART_FCR_ENABLE_FIFO = 0x01;
export const UART_FCR_CLEAR_RCVR = 0x02;
export const UART_FCR_CLEAR_XMIT = 0x04;
export const UART_FCR_R_TRIG_00 = 0x00;
export const UART_FCR_R_TRIG_10 = 0x80;

export const UART_LCR_WLEN5 = 0x00;
export const UART_LCR_WLEN8 = 0x03;
export const UART_LCR_STOP = 0x04;
export const UART_LCR_PARITY = 0x08;
export const UART_LCR_EPAR = 0x10;
export const UART_LCR_SPAR = 0x20;
export const UART_LCR_SBC = 0x40;
export const UART_LCR_DLAB = 0x80;

export const UART_MCR_DTR = 0x01;
export const UART_MCR_RTS = 0x02;
export const UART_MCR_OUT1 = 0x04;
export const UART_MCR_OUT2 = 0x08;
export const UART_MCR_LOOP = 0x10;

export const UART_LSR_DR = 0x01;
export const UART_LSR_OE = 0x02;
export const UART_LSR_PE = 0x04;
export const UART_LSR_FE = 0x08;
export const UART_LSR_BI = 0x10;
export const UART_LSR_THRE = 0x20;
export const UART_LSR_TEMT = 0x40;

export const UART_MSR_CTS = 0x10;
export const UART_MSR_DSR = 0x20;
export const UART_MSR_DCD = 0x80;
